import { slackAttachments } from './slack-files';

describe(slackAttachments.name, () => {
  it('turns message files into references with the private download URL', () => {
    const refs = slackAttachments(
      [
        {
          id: 'F1',
          name: 'shot.png',
          mimetype: 'image/png',
          size: 123,
          url_private: 'https://files.slack.com/files-pri/T-F1/shot.png',
          url_private_download: 'https://files.slack.com/files-pri/T-F1/download/shot.png',
        },
        { id: 'F2', name: 'memo.m4a', mimetype: 'audio/mp4', subtype: 'slack_audio', size: 9 },
        { id: 'F3', mode: 'tombstone' },
        'not a file',
      ],
      'acme',
      'acme:Ev1',
    );
    expect(refs).toEqual([
      {
        id: 'acme:Ev1#0',
        channel: 'slack',
        source: 'acme',
        kind: 'photo',
        name: 'shot.png',
        mime: 'image/png',
        size: 123,
        url: 'https://files.slack.com/files-pri/T-F1/download/shot.png',
      },
      {
        id: 'acme:Ev1#1',
        channel: 'slack',
        source: 'acme',
        kind: 'voice',
        name: 'memo.m4a',
        mime: 'audio/mp4',
        size: 9,
      },
      {
        id: 'acme:Ev1#2',
        channel: 'slack',
        source: 'acme',
        kind: 'file',
        name: null,
        mime: null,
        size: null,
      },
    ]);
  });

  it('no files, no references', () => {
    expect(slackAttachments(undefined, 'acme', 'x')).toEqual([]);
    expect(slackAttachments({}, 'acme', 'x')).toEqual([]);
  });
});
