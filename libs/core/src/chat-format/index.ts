export * from './chat-parts.util';
export * from './slack-mrkdwn.util';
export * from './split-markdown.util';
export * from './telegram-html.util';
