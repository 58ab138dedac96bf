import CloakroomHTTP

extension TokenBroker {
    /// Closes the HTTP connections the broker's requests opened and releases their client; call it
    /// when the process stops asking for tokens for good (a service stopping). A cached token
    /// never needs one, and a later request opens what it needs again.
    ///
    /// - Warning: the client is the process's one (unless the broker was given its own), so
    ///   requests other brokers have in flight fail too; token requests and idempotent admin calls
    ///   are retried within their deadline.
    public func shutdown() async {
        await client.transport.shutdown()
    }

    /// Sends `request`, first asking its realm's issuer for the token endpoint when it has none yet.
    /// - Throws: `TokenError`, from the token endpoint or the issuer.
    func send(_ request: TokenRequest) async throws -> AccessToken {
        var request = request
        var rediscover: (@Sendable () async -> String?)?
        if let issuer = request.issuer {
            let realm = request.ref.realm, caFile = request.caFile, allowsHTTP = request.allowsInsecureHTTP
            if request.tokenURL.isEmpty {
                request.tokenURL = try await discover(issuer, realm: realm, caFile: caFile, allowsInsecureHTTP: allowsHTTP).tokenEndpoint
            }
            // The endpoint may have moved since the issuer was asked: ask once more if it is gone.
            rediscover = { try? await self.discover(issuer, realm: realm, caFile: caFile, allowsInsecureHTTP: allowsHTTP).tokenEndpoint }
        }
        return try await client.token(for: request, rediscover: rediscover)
    }

    /// Asks `issuer` for its discovery document and keeps the answer for the next requests.
    func discover(_ issuer: String, realm: Name, caFile: String?, allowsInsecureHTTP: Bool) async throws -> ProviderMetadata {
        try await client.discover(issuer, realm: realm, caFile: caFile, allowsInsecureHTTP: allowsInsecureHTTP, storingIn: vault)
    }
}
