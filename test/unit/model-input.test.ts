import { capText } from '../../src/chat/attachments-to-model';
import { checkModelParameters } from '../../src/chat/model-parameters';
import { estimatePromptTokens, IMAGE_TOKEN_ESTIMATE } from '../../src/chat/providers/provider';

describe('checkModelParameters', () => {
  it('keeps only the parameters set, at their bounds included', () => {
    expect(checkModelParameters(null)).toEqual({});
    expect(checkModelParameters({ temperature: 0, topP: 1, maxOutputTokens: 1 })).toEqual({ temperature: 0, topP: 1, maxOutputTokens: 1 });
    expect(checkModelParameters({ temperature: 2, topP: null })).toEqual({ temperature: 2 });
  });

  it.each([{ temperature: Number.NaN }, { temperature: 2.0001 }, { topP: 0 }, { topP: -1 }, { maxOutputTokens: 1.5 }, { maxOutputTokens: -3 }])(
    'refuses %j with BAD_USER_INPUT',
    (p) => {
      expect(() => checkModelParameters(p)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
    },
  );
});

describe('capText', () => {
  it('leaves short text alone but removes control characters', () => {
    expect(capText('a\tb\nc\u0000d\u001b', 100)).toBe('a\tb\ncd');
  });

  it('cuts on a character boundary and says how much of how much is shown', () => {
    const text = 'é'.repeat(10); // 20 bytes
    expect(capText(text, 5)).toBe('éé\n[cut: the first 4 of 20 bytes are shown]');
    expect(capText('abc', 10, 5000)).toBe('abc\n[cut: the first 3 of 5000 bytes are shown]');
  });
});

describe('estimatePromptTokens', () => {
  it('counts text as the joined turns (4 characters a token) and each image at a fixed estimate', () => {
    const turns = [
      { role: 'system' as const, content: 'abcd' },
      { role: 'user' as const, content: 'efgh', attachments: [{ type: 'image_url' as const, image_url: { url: 'data:image/png;base64,AA' } }] },
    ];
    expect(estimatePromptTokens(turns.slice(0, 1))).toBe(1);
    expect(estimatePromptTokens(turns)).toBe(Math.ceil('abcd\nefgh'.length / 4) + IMAGE_TOKEN_ESTIMATE);
  });
});
