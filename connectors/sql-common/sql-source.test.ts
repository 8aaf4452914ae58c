import { describe, expect, it } from 'vitest';
import { missingFields } from './sql-source.js';

describe('mapped fields against a table', () => {
  it('a field is there when a column has its whole name or its first dotted part (a JSON path)', () => {
    const columns = [{ name: 'id' }, { name: 'email' }, { name: 'profile' }, { name: 'a.b' }];
    expect(missingFields(['id', 'email', 'profile.city', 'a.b'], columns)).toEqual([]);
    expect(missingFields(['emial', 'Email', 'address.city', 'id'], columns)).toEqual(['emial', 'Email', 'address.city']);
  });
});
