import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** A solved captcha already accepted, remembered until it would have expired anyway (replay guard). */
@Entity({ tableName: 'captcha_use' })
export class CaptchaUse {
  @PrimaryKey({ type: 'text' })
  signature!: string;

  @Property({ type: 'timestamptz' })
  @Index()
  expiresAt!: Date;
}
