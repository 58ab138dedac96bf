package import CloakroomCrypto

/// Keyslots in SQLite.
package struct SQLKeyslots<Connection: SQLConnection>: KeyslotStore {
    let database: Connection

    package init(database: Connection) {
        self.database = database
    }

    package func all() throws -> [KeyslotRecord] {
        try database.rows("""
            SELECT id, kind, label, fingerprint, kdf_opslimit, kdf_memlimit, kdf_salt, nonce, wrapped_key, created_at
            FROM keyslots ORDER BY id
            """) { row in
            KeyslotRecord(
                id: row.integer("id"), kind: row.text("kind"), label: row.text("label"), fingerprint: row.optionalText("fingerprint"),
                opsLimit: row.optionalInteger("kdf_opslimit"), memLimit: row.optionalInteger("kdf_memlimit"),
                salt: row.optionalBlob("kdf_salt"), wrappedKey: SealedBox(nonce: row.blob("nonce"), ciphertext: row.blob("wrapped_key")),
                createdAt: row.integer("created_at"))
        }
    }

    package func insert(_ record: KeyslotRecord) throws -> Int64 {
        try database.insert(
            """
            INSERT INTO keyslots (kind, label, fingerprint, kdf_opslimit, kdf_memlimit, kdf_salt, nonce, wrapped_key, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            .text(record.kind), .text(record.label), .optional(record.fingerprint), .optional(record.opsLimit),
            .optional(record.memLimit), .optional(record.salt), .blob(record.wrappedKey.nonce), .blob(record.wrappedKey.ciphertext),
            .integer(record.createdAt))
    }

    package func rewrap(id: Int64, _ wrappedKey: SealedBox) throws {
        try database.execute("UPDATE keyslots SET nonce = ?, wrapped_key = ? WHERE id = ?",
                             .blob(wrappedKey.nonce), .blob(wrappedKey.ciphertext), .integer(id))
    }

    package func remove(id: Int64) throws -> Bool {
        try database.execute("DELETE FROM keyslots WHERE id = ?", .integer(id)) > 0
    }
}
