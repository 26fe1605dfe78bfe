import { Migration20261128000000 } from './Migration20261128000000';
import { Migration20261128011100 } from './Migration20261128011100';
import { Migration20261128015226 } from './Migration20261128015226';
import { Migration20261128021222 } from './Migration20261128021222';
import { Migration20261128023154 } from './Migration20261128023154';
import { Migration20261201113700 } from './Migration20261201113700';
import { Migration20261201114400 } from './Migration20261201114400';
import { Migration20261201120600 } from './Migration20261201120600';
import { Migration20261201140000 } from './Migration20261201140000';
import { Migration20261201140100 } from './Migration20261201140100';
import { Migration20261201140500 } from './Migration20261201140500';
import { Migration20261201141000 } from './Migration20261201141000';
import { Migration20261201220000 } from './Migration20261201220000';

/** Every migration, in order; a new one is generated with `npm run migration:create` and added here. */
export const MIGRATIONS = [
  { name: 'Migration20261128000000', class: Migration20261128000000 },
  { name: 'Migration20261128011100', class: Migration20261128011100 },
  { name: 'Migration20261128015226', class: Migration20261128015226 },
  { name: 'Migration20261128021222', class: Migration20261128021222 },
  { name: 'Migration20261128023154', class: Migration20261128023154 },
  { name: 'Migration20261201113700', class: Migration20261201113700 },
  { name: 'Migration20261201114400', class: Migration20261201114400 },
  { name: 'Migration20261201120600', class: Migration20261201120600 },
  { name: 'Migration20261201140000', class: Migration20261201140000 },
  { name: 'Migration20261201140100', class: Migration20261201140100 },
  { name: 'Migration20261201140500', class: Migration20261201140500 },
  { name: 'Migration20261201141000', class: Migration20261201141000 },
  { name: 'Migration20261201220000', class: Migration20261201220000 },
];
