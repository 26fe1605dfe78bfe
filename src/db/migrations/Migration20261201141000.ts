import { Migration } from '@mikro-orm/migrations';

/**
 * What reached the model and what it cost (issue 11): why each reply ended, a stable error code,
 * whether its usage was counted here, the parameters it was asked with; the ledger's prompt and
 * completion split (older days count all of `used` as prompt: the split was not kept); a PDF's
 * extracted text, stored once.
 */
export class Migration20261201141000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "finish_reason" as enum ('STOP', 'LENGTH', 'CANCELLED', 'ERROR', 'INTERRUPTED');`);
    this.addSql(
      `alter table "message" add column "usage_estimated" boolean null, add column "error_code" text null, add column "finish_reason" "finish_reason" null, add column "parameters" jsonb null;`,
    );
    this.addSql(
      `update "message" set "finish_reason" = case "status" when 'COMPLETE' then 'STOP' when 'CANCELLED' then 'CANCELLED' when 'FAILED' then 'ERROR' when 'INTERRUPTED' then 'INTERRUPTED' end::"finish_reason" where "role" = 'ASSISTANT';`,
    );
    this.addSql(
      `update "message" set "error_code" = case "status" when 'CANCELLED' then 'CANCELLED' when 'FAILED' then 'UPSTREAM_ERROR' when 'INTERRUPTED' then 'INTERRUPTED' end where "role" = 'ASSISTANT';`,
    );
    this.addSql(`alter table "token_usage" add column "prompt_tokens" int not null default 0, add column "completion_tokens" int not null default 0;`);
    this.addSql(`update "token_usage" set "prompt_tokens" = "used";`);
    this.addSql(`alter table "attachment" add column "extracted_text" text null, add column "extract_error" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "attachment" drop column "extracted_text", drop column "extract_error";`);
    this.addSql(`alter table "token_usage" drop column "prompt_tokens", drop column "completion_tokens";`);
    this.addSql(`alter table "message" drop column "usage_estimated", drop column "error_code", drop column "finish_reason", drop column "parameters";`);
    this.addSql(`drop type "finish_reason";`);
  }
}
