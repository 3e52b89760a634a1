import { describe, expect, it } from 'vitest';
import { formatIsoMicros } from '../../src/report/iso-micros.js';

describe('iso-micros', () => {
  it.each([
    [0, '1970-01-01T00:00:00.000000Z'],
    [1, '1970-01-01T00:00:00.000001Z'],
    [1_709_294_400_123_456, '2024-03-01T12:00:00.123456Z'],
    [1_709_294_400_999_999, '2024-03-01T12:00:00.999999Z'],
    [1_709_294_401_000_000, '2024-03-01T12:00:01.000000Z'],
    [-1, '1969-12-31T23:59:59.999999Z'],
  ])('formats %d µs as %s', (us, iso) => {
    expect(formatIsoMicros(us)).toBe(iso);
  });

  it('agrees with Date for whole milliseconds across second changes', () => {
    for (let ms = 1_709_294_399_990; ms < 1_709_294_400_010; ms++) {
      expect(formatIsoMicros(ms * 1000)).toBe(new Date(ms).toISOString().replace('Z', '000Z'));
    }
  });
});
