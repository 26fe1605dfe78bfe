import { AppMeta } from './app-meta.entity';

/** Every entity, listed explicitly so discovery never depends on file globs or build layout. */
export const ENTITIES = [AppMeta];
