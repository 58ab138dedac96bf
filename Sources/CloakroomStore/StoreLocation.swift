/// What kind of store a vault location names, decided in one place for the domain (which
/// dispatches on it, with or without the PostgreSQL trait) and the PostgreSQL backend (which
/// parses it).
package enum StoreLocation {
    /// Whether `location` is a PostgreSQL URL (libpq's two schemes) rather than a file path.
    package static func isPostgreSQL(_ location: String) -> Bool {
        location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
    }
}
