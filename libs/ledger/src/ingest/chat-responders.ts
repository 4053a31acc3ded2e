import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { type WaitRow } from '../waits/wait.repository';

/** Who may answer a person's wait (and so cancel its work), across linked chat identities. */
@Injectable()
export class ChatResponders {
  private readonly identities: Record<string, string[]>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.identities = config.chat.identities;
  }

  /**
   * A responder check for a human wait. Responders may name channel identities
   * (`telegram:42`, `slack:T1:U1`) or people from `chat.identities`; any identity
   * linked to a named person or identity may answer.
   */
  mayAnswer(wait: Pick<WaitRow, 'responders'>, actorId: string | null): boolean {
    const responders = Array.isArray(wait.responders) ? (wait.responders as string[]) : [];
    if (responders.length === 0) return true;
    if (!actorId) return false;
    const allowed = new Set(responders);
    for (const [person, linked] of Object.entries(this.identities)) {
      if (allowed.has(person) || linked.some((id) => allowed.has(id)))
        for (const id of linked) allowed.add(id);
    }
    return allowed.has(actorId);
  }
}
