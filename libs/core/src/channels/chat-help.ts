/**
 * The chat commands people can type, in one list: Telegram's command menu
 * (setMyCommands) and the answer to `/help` and `/start` are both made from it, so the
 * menu never offers what the gateway does not answer.
 */
export const CHAT_COMMAND_MENU: ReadonlyArray<{ command: string; description: string }> = [
  { command: 'new', description: 'Start a new conversation (also /reset)' },
  { command: 'status', description: 'What is running in this chat' },
  { command: 'cancel', description: 'Stop the work running in this chat' },
  { command: 'memory', description: 'What I remember about you' },
  { command: 'forget', description: 'Erase what I remember about you' },
  { command: 'help', description: 'What I do, and these commands' },
];

/** What `/help` says when the bot's config gives no `description`. */
export const DEFAULT_BOT_DESCRIPTION =
  'Hello! Write to me and I answer here. Photos, files and voice notes are welcome too.';

/**
 * The answer to `/help` (and `/start`): what the bot does, then each command. On Slack a
 * command is its word (after a mention in a channel): `new`, `status` and `cancel` lead a
 * message, `memory`, `forget` and `help` are the whole message.
 */
export function chatHelpText(channel: string, description: string | undefined): string {
  const slack = channel === 'slack';
  const lines = CHAT_COMMAND_MENU.map(({ command, description: what }) =>
    slack ? `• \`${command}\` — ${what.replace(' (also /reset)', '')}` : `/${command} — ${what}`,
  );
  return `${description ?? DEFAULT_BOT_DESCRIPTION}\n\n${
    slack ? 'Commands (type the word):' : 'Commands:'
  }\n${lines.join('\n')}`;
}
