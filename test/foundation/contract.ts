import fs from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { ROOT } from '../helpers/paths';

/** Where the public contract lives: ../shared/API.md beside the clone (CI lays it there too). */
export const API_MD = process.env.PARLEY_API_MD ?? path.resolve(ROOT, '..', 'shared', 'API.md');

/** The contract's SDL block, built into a schema. */
export function contractSchema(): GraphQLSchema {
  const md = fs.readFileSync(API_MD, 'utf8');
  const m = /```graphql\n([\s\S]*?)```/.exec(md);
  if (!m) throw new Error(`no graphql block in ${API_MD}`);
  return buildSchema(m[1]);
}

function kind(t: GraphQLNamedType): string {
  if (isObjectType(t)) return 'object';
  if (isInputObjectType(t)) return 'input';
  if (isEnumType(t)) return 'enum';
  if (isScalarType(t)) return 'scalar';
  if (isInterfaceType(t)) return 'interface';
  return 'union';
}

/**
 * Compares our schema with the contract. Returns the contract items our schema lacks
 * (`Type`, `Type.member` or `Type.member(argument)`) and every mismatch in what both have.
 */
export function compareWithContract(ours: GraphQLSchema, contract: GraphQLSchema): { missing: string[]; mismatches: string[] } {
  const missing: string[] = [];
  const mismatches: string[] = [];
  for (const ct of Object.values(contract.getTypeMap())) {
    if (ct.name.startsWith('__') || isSpecifiedScalarType(ct)) continue;
    const ot = ours.getType(ct.name);
    if (!ot) {
      missing.push(ct.name);
      continue;
    }
    if (kind(ot) !== kind(ct)) {
      mismatches.push(`${ct.name}: contract has a ${kind(ct)}, ours is a ${kind(ot)}`);
      continue;
    }
    if (isEnumType(ct) && isEnumType(ot)) {
      const values = new Set(ot.getValues().map((v) => v.name));
      for (const v of ct.getValues()) if (!values.has(v.name)) missing.push(`${ct.name}.${v.name}`);
    }
    if ((isObjectType(ct) && isObjectType(ot)) || (isInputObjectType(ct) && isInputObjectType(ot))) {
      const ourFields = ot.getFields();
      for (const cf of Object.values(ct.getFields())) {
        const of = ourFields[cf.name];
        if (!of) {
          missing.push(`${ct.name}.${cf.name}`);
          continue;
        }
        if (String(of.type) !== String(cf.type)) mismatches.push(`${ct.name}.${cf.name}: contract ${String(cf.type)}, ours ${String(of.type)}`);
        if ('args' in cf && 'args' in of) {
          for (const ca of cf.args) {
            const oa = of.args.find((a) => a.name === ca.name);
            if (!oa) missing.push(`${ct.name}.${cf.name}(${ca.name})`);
            else {
              if (String(oa.type) !== String(ca.type))
                mismatches.push(`${ct.name}.${cf.name}(${ca.name}): contract ${String(ca.type)}, ours ${String(oa.type)}`);
              if (ca.defaultValue !== undefined && oa.defaultValue !== ca.defaultValue) {
                mismatches.push(
                  `${ct.name}.${cf.name}(${ca.name}): contract default ${JSON.stringify(ca.defaultValue)}, ours ${JSON.stringify(oa.defaultValue)}`,
                );
              }
            }
          }
          for (const oa of of.args) {
            if (!cf.args.some((a: { name: string }) => a.name === oa.name) && String(oa.type).endsWith('!') && oa.defaultValue === undefined) {
              mismatches.push(`${ct.name}.${cf.name}(${oa.name}): a required argument the contract does not have`);
            }
          }
        }
      }
    }
  }
  return { missing, mismatches };
}
