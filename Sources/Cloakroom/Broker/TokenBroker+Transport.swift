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
}
