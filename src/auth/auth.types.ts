import { MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { User } from './user.entity';

@ObjectType({ description: 'Tokens for a new or refreshed session, and who it belongs to.' })
export class AuthPayload {
  @Field({ description: 'Short-lived JWT for `Authorization: Bearer …` and WebSocket `connectionParams.authorization`.' })
  accessToken!: string;

  @Field({ description: 'When the access token stops working.' })
  accessTokenExpiresAt!: Date;

  @Field({ description: 'Opaque single-use token for `refreshSession`; also set as an HttpOnly cookie.' })
  refreshToken!: string;

  @Field({ description: 'When the refresh token expires if unused.' })
  refreshTokenExpiresAt!: Date;

  @Field(() => User, { description: 'The signed-in user.' })
  user!: User;
}

@ObjectType('Session', { description: 'One signed-in device or browser.' })
export class SessionInfo {
  @Field(() => ID, { description: 'Session id, for `revokeSession`.' })
  id!: string;

  @Field({ description: 'When the session began (the login).' })
  createdAt!: Date;

  @Field({ description: 'When its tokens were last refreshed.' })
  lastUsedAt!: Date;

  @Field(() => String, { nullable: true, description: 'Client IP address seen at login or last refresh.' })
  ip?: string | null;

  @Field(() => String, { nullable: true, description: 'User agent seen at login.' })
  userAgent?: string | null;

  @Field({ description: 'True for the session the current access token belongs to.' })
  current!: boolean;
}

@ObjectType({ description: 'A captcha to solve before `register` or `login`.' })
export class CaptchaChallenge {
  @Field({ description: '`altcha` (proof of work), `turnstile`, `hcaptcha`, `recaptcha`, or `none` in development.' })
  provider!: string;

  @Field(() => GraphQLJSON, { description: 'For altcha: `{ algorithm, challenge, maxnumber, salt, signature }`; for the others: `{ siteKey }`.' })
  challenge!: Record<string, unknown>;
}

@InputType({ description: 'A new account.' })
export class RegisterInput {
  @Field({ description: 'Email address; trimmed and lower-cased.' })
  @MaxLength(254)
  email!: string;

  @Field({ description: '12 to 128 characters, hard to guess (a long passphrase works well).' })
  @MaxLength(1024)
  password!: string;

  @Field(() => String, { nullable: true, description: 'Name shown to others; plain text, 1 to 64 characters.' })
  @MaxLength(1024)
  displayName?: string | null;

  @Field({ description: 'The solved captcha: for altcha, base64 of `{ algorithm, challenge, number, salt, signature }`.' })
  @MaxLength(4096)
  captcha!: string;
}

@InputType({ description: 'Credentials for a login.' })
export class LoginInput {
  @Field({ description: 'Email address.' })
  @MaxLength(254)
  email!: string;

  @Field({ description: 'Password.' })
  @MaxLength(1024)
  password!: string;

  @Field({ description: 'The solved captcha, as for `register`.' })
  @MaxLength(4096)
  captcha!: string;
}
