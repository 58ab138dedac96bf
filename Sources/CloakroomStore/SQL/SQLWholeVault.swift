/// Every row of a vault, table by table, as it is stored (sealed values sealed, ids as they
/// are): what `cloak vault copy` reads from one store and writes into another, of either backend.
package struct VaultRows: Sendable {
    /// Each table's rows in the order of the tables, each row's values in its columns' order.
    package var tables: [(table: String, rows: [[SQLValue]])]

    /// Rows per table, for reports and checks.
    package var counts: [String: Int] { Dictionary(uniqueKeysWithValues: tables.map { ($0.table, $0.rows.count) }) }
}

/// Reads and writes a whole vault at once. Ids are kept: sealed values, trust tags and the audit
/// chain are bound to the vault's identity and to their rows' ids, so a copy that keeps both
/// opens with the same keys and verifies as it did, with nothing re-sealed.
package protocol WholeVaultStore {
    /// Every row of every table (in the caller's transaction, for one snapshot).
    func allRows() throws -> VaultRows
    /// Inserts `rows` into a vault that has none (its schema just made), in the caller's
    /// transaction.
    func insertAll(_ rows: VaultRows) throws
}

/// The shared SQL. `resetIdentity` gives, for a table with an `id`, what makes its next generated
/// id follow the largest inserted (PostgreSQL's identity sequences do not see explicit ids; SQLite's
/// rowids need nothing).
struct SQLWholeVault<Connection: SQLConnection>: WholeVaultStore {
    let database: Connection
    let resetIdentity: (String) -> [String]

    func allRows() throws -> VaultRows {
        VaultRows(tables: try VaultTable.all.map { table in
            let names = table.columns.map { "\($0.0)" }.joined(separator: ", ")
            let rows = try database.rows("SELECT \(names) FROM \(table.name) ORDER BY \(table.key)", []) { row in
                table.columns.map { name, kind -> SQLValue in
                    if row.isNull(name) { return .null }
                    return switch kind {
                    case .integer: .integer(row.integer(name))
                    case .text: .text(row.text(name))
                    case .blob: .blob(row.blob(name))
                    }
                }
            }
            return (table.name, rows)
        })
    }

    func insertAll(_ rows: VaultRows) throws {
        var adminClients: [(realm: SQLValue, client: SQLValue)] = []
        for ((table, values), spec) in zip(rows.tables, VaultTable.all) {
            precondition(table == spec.name, "rows of \(table) where \(spec.name) was expected")
            let names = spec.columns.map { "\($0.0)" }
            let adminColumn = table == "realms" ? names.firstIndex(of: "admin_client_id") : nil
            let sql = "INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(names.map { _ in "?" }.joined(separator: ", ")))"
            for var row in values {
                if let adminColumn, row[adminColumn] != .null {
                    adminClients.append((row[0], row[adminColumn]))
                    row[adminColumn] = .null
                }
                try database.execute(sql, row)
            }
            if table == "clients" {
                for (realm, client) in adminClients {
                    try database.execute("UPDATE realms SET admin_client_id = ? WHERE id = ?", [client, realm])
                }
            }
            if spec.key == "id" {
                for statement in resetIdentity(table) { _ = try database.rows(statement, []) { _ in () } }
            }
        }
    }
}

/// One table of a vault, as `SQLWholeVault` copies it: its name, the column its rows are ordered
/// by, and its columns with their kinds.
private struct VaultTable {
    enum Kind { case integer, text, blob }
    let name: String
    let key: String
    let columns: [(StaticString, Kind)]

    init(_ name: String, _ key: String, _ columns: [(StaticString, Kind)]) {
        (self.name, self.key, self.columns) = (name, key, columns)
    }

    /// The tables, parents first, with the columns both schemas have (see
    /// migrations/postgresql/0001_vault.sql). `audit_actions` is not copied: it is the schema's
    /// own list, made by the migrations on both sides.
    static let all: [VaultTable] = [
        VaultTable("vault", "singleton", [("singleton", .integer), ("vault_id", .blob), ("created_at", .integer)]),
        VaultTable("keyslots", "id", [("id", .integer), ("kind", .text), ("label", .text), ("fingerprint", .text), ("kdf_opslimit", .integer),
                            ("kdf_memlimit", .integer), ("kdf_salt", .blob), ("nonce", .blob), ("wrapped_key", .blob), ("created_at", .integer)]),
        // admin_client_id refers to a client: written after the clients (see insertAll).
        VaultTable("realms", "id", [("id", .integer), ("name", .text), ("issuer", .text), ("token_url", .text), ("admin_url", .text), ("ca_file", .text),
                          ("admin_client_id", .integer), ("allow_http", .integer), ("created_at", .integer), ("updated_at", .integer),
                          ("keep_previous", .integer), ("trust_tag", .blob), ("rotate_every", .integer)]),
        VaultTable("clients", "id", [("id", .integer), ("realm_id", .integer), ("name", .text), ("client_id", .text), ("auth_method", .text),
                           ("scopes", .text), ("audience", .text), ("created_at", .integer), ("updated_at", .integer), ("rotate_every", .integer),
                           ("idp_uuid", .text), ("trust_tag", .blob)]),
        VaultTable("secret_versions", "id", [("id", .integer), ("client_id", .integer), ("version", .integer), ("state", .text), ("nonce", .blob),
                                   ("sealed", .blob), ("created_at", .integer), ("state_changed_at", .integer)]),
        VaultTable("cached_tokens", "id", [("id", .integer), ("client_id", .integer), ("cache_key", .text), ("secret_version", .integer),
                                 ("issued_at", .integer), ("expires_at", .integer), ("scope", .text), ("nonce", .blob), ("sealed", .blob)]),
        VaultTable("rotations", "id", [("id", .integer), ("client_id", .integer), ("from_version", .integer), ("to_version", .integer), ("mode", .text),
                             ("state", .text), ("started_at", .integer), ("updated_at", .integer), ("detail", .text)]),
        VaultTable("events", "seq", [("seq", .integer), ("time", .integer), ("os_user", .text), ("host", .text), ("command", .text), ("action", .text),
                           ("realm", .text), ("client", .text), ("outcome", .text), ("detail", .text), ("mac", .blob)]),
        VaultTable("audit_head", "singleton", [("singleton", .integer), ("count", .integer), ("last_mac", .blob), ("mac", .blob)]),
        VaultTable("realm_discovery", "realm_id", [("realm_id", .integer), ("issuer", .text), ("token_endpoint", .text), ("jwks_uri", .text),
                                         ("discovered_at", .integer), ("nonce", .blob), ("seal", .blob)]),
        VaultTable("agent_consumers", "id", [("id", .integer), ("name", .text), ("clients", .text), ("credential_digest", .blob),
                                   ("created_at", .integer), ("tag", .blob)]),
    ]
}
