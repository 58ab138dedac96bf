#include <sqlite3.h>

// sqlite3_db_config is variadic, which Swift cannot call; this wrapper fixes its arguments.

/// Whether closing the connection checkpoints the WAL into the main file (SQLite's default).
/// Cloakroom turns it off for every connection: a close-time checkpoint would write into a
/// damaged or foreign file, which must be left exactly as it was found, and it costs a process
/// that only read a cached token several writes and two unlinks. Writers checkpoint after commit.
static inline int cloak_sqlite3_checkpoint_on_close(sqlite3 *db, int enabled) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, enabled ? 0 : 1, (int *)0);
}
