import { lowerOdooHashRoundsForTests } from '../../src/core/shared/odoo-password.js';
import { lowerPasswordHashCostForTests } from '../../src/core/shared/passwords.js';

// A Vitest setup file (vitest.config.ts): every test file's in-process app hashes new passwords at a
// low scrypt cost, and instance users' Odoo hashes with few PBKDF2 rounds. The rules around passwords
// (limits, dummy checks, rehashing foreign hashes) do not depend on the cost; servers the tests start
// as child processes keep the production cost.
lowerPasswordHashCostForTests();
lowerOdooHashRoundsForTests();
