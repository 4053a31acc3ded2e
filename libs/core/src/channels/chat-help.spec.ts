import { CHAT_COMMAND_MENU, chatHelpText, DEFAULT_BOT_DESCRIPTION } from './chat-help';

describe(chatHelpText.name, () => {
  it('Telegram: the description, then every command of the menu with its slash', () => {
    const text = chatHelpText('telegram', 'I deploy things.');
    expect(text.startsWith('I deploy things.\n\nCommands:\n')).toBe(true);
    for (const { command, description } of CHAT_COMMAND_MENU)
      expect(text).toContain(`/${command} — ${description}`);
  });

  it('Slack: the words to type, without slashes or the Telegram-only alias', () => {
    const text = chatHelpText('slack', undefined);
    expect(text.startsWith(`${DEFAULT_BOT_DESCRIPTION}\n\nCommands (type the word):`)).toBe(true);
    expect(text).toContain('• `new` — Start a new conversation\n');
    expect(text).not.toContain('/');
  });

  it('the menu is what the Bot API accepts (1-32 of a-z 0-9 _, a 1-256 character description)', () => {
    for (const { command, description } of CHAT_COMMAND_MENU) {
      expect(command).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(description.length).toBeGreaterThan(0);
      expect(description.length).toBeLessThanOrEqual(256);
    }
  });
});
