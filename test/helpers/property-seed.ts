/**
 * Property tests draw a new seed on each run unless SMTPSCOPE_PROPERTY_SEED is set: CI sets it so that a run
 * of the same commit gives the same verdict, while local runs (and `npm run fuzz`, at scale) keep exploring new
 * inputs. A failure prints its seed either way; set the variable to that seed to replay it.
 */

import fc from 'fast-check';

const seed = process.env['SMTPSCOPE_PROPERTY_SEED'];
if (seed !== undefined && seed !== '') {
  const value = Number(seed);
  if (!Number.isSafeInteger(value))
    throw new Error(`SMTPSCOPE_PROPERTY_SEED must be an integer, not '${seed}'`);
  fc.configureGlobal({ seed: value });
}
