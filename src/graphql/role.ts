import { registerEnumType } from 'type-graphql';

/** What a user may do: USER chats; AUDITOR also reads the audit trail; ADMIN also manages users. */
export enum Role {
  USER = 'USER',
  AUDITOR = 'AUDITOR',
  ADMIN = 'ADMIN',
}

registerEnumType(Role, { name: 'Role', description: 'A user role: USER chats; AUDITOR also reads the audit trail; ADMIN also manages users.' });
