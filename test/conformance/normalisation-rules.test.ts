import { describe, expect, it } from 'vitest';
import { ARKIME_RULES } from '../harness/conformance/arkime-compare.js';
import { NORMALISATION_RULES } from '../harness/conformance/normalisation-rules.js';
import { SURICATA_RULES } from '../harness/conformance/suricata-compare.js';
import { TSHARK_RULES } from '../harness/conformance/tshark-compare.js';

describe('normalisation-rules', () => {
  it('gives a reason for every rule a comparison can apply, and names no other', () => {
    const applied = [
      ...Object.values(TSHARK_RULES),
      ...Object.values(SURICATA_RULES),
      ...Object.values(ARKIME_RULES),
    ].sort();
    expect(Object.keys(NORMALISATION_RULES).sort()).toEqual(applied);
    for (const reason of Object.values(NORMALISATION_RULES)) expect(reason.length).toBeGreaterThan(40);
  });
});
