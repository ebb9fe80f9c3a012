import { lowerPasswordHashCostForTests } from '../../src/core/shared/passwords.js';

// A Vitest setup file (vitest.config.ts): every test file's in-process app hashes new passwords at a
// low scrypt cost. The rules around passwords (limits, dummy checks, rehashing foreign hashes) do not
// depend on the cost; servers the tests start as child processes keep the production cost.
lowerPasswordHashCostForTests();
