public import AsyncHTTPClient
public import Cloakroom
public import NIOCore
internal import NIOHTTP1

extension TokenProvider {
    /// Sends `request` to a service with `Authorization: Bearer <token of client>`; if the service
    /// answers 401, fetches a fresh token once (it may have been revoked, or the clocks disagree
    /// about its expiry) and sends the request again.
    ///
    /// For services that already use AsyncHTTPClient: the request goes out on `http`, the caller's
    /// client, not on the one the broker fetches tokens with. Any `TokenProvider` will do, so a
    /// service's tests can run this against their own server with a fake provider.
    ///
    /// - Warning: the request may be sent twice, so its body must be replayable (`.bytes`).
    /// - Throws: what `token(for:)` throws, and what `http.execute` throws.
    public func execute(
        _ request: HTTPClientRequest, as client: ClientRef, on http: HTTPClient = .shared, timeout: TimeAmount = .seconds(30)
    ) async throws -> HTTPClientResponse {
        var request = request
        let first = try await token(for: client, scopes: [], audience: nil, minimumTTL: nil, refresh: false)
        request.headers.replaceOrAdd(name: "Authorization", value: "Bearer " + first.token.value)
        let response = try await http.execute(request, timeout: timeout)
        guard response.status == .unauthorized else { return response }
        // Drain the refused response before its connection can be reused.
        _ = try? await response.body.collect(upTo: 1 << 20)
        let fresh = try await token(for: client, scopes: [], audience: nil, minimumTTL: nil, refresh: true)
        request.headers.replaceOrAdd(name: "Authorization", value: "Bearer " + fresh.token.value)
        return try await http.execute(request, timeout: timeout)
    }

    /// `execute(_:as:on:timeout:)` with the client as `REALM/NAME` text (`"prod/orders"`).
    /// - Throws: `VaultError.invalidInput` for a malformed name, and what the other one throws.
    public func execute(
        _ request: HTTPClientRequest, as client: String, on http: HTTPClient = .shared, timeout: TimeAmount = .seconds(30)
    ) async throws -> HTTPClientResponse {
        try await execute(request, as: try ClientRef(client), on: http, timeout: timeout)
    }
}
