import CloakroomCrypto
import CloakroomStore
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A consumer of the agent's loopback TCP listener: a name and the clients it may ask for.
public struct AgentConsumer: Sendable, Equatable {
    /// Its name.
    public var name: Name
    /// The `REALM/NAME` globs of the clients it may get tokens of.
    public var clients: [String]
    /// When it was added.
    public var createdAt: Date

    /// Whether it may ask for `client`'s token.
    public func mayAsk(for client: ClientRef) -> Bool {
        clients.contains { FileSystem.matches(client.description, glob: $0) }
    }
}

extension UnlockedVault {
    /// The credentials' prefix: says what a string found in a config file or a log is.
    static let consumerCredentialPrefix = "cloak_agent_"

    /// Adds consumer `name`, which may ask for the clients matching `clients`; returns its
    /// bearer credential (256 random bits), which the vault does not keep: show it once.
    /// - Throws: `VaultError` `.alreadyExists`, or `.invalidInput` for a glob without a realm.
    public func addConsumer(_ name: Name, clients: [String]) throws -> String {
        guard !clients.isEmpty, clients.allSatisfy({ $0.contains("/") && !$0.contains(" ") }) else {
            throw VaultError(.invalidInput, "a consumer's clients are REALM/NAME globs without spaces (\"prod/*\", \"*/orders\").")
        }
        // A String, which cannot be zeroed: it is printed once and forgotten; the vault keeps its digest.
        let credential = Self.consumerCredentialPrefix + Sodium.randomBytes(32).hex
        let digest = Sodium.digest(Array(credential.utf8))
        var record = AgentConsumerRecord(name: name.rawValue, clients: clients.joined(separator: " "), credentialDigest: digest,
                                         createdAt: vault.now, tag: [])
        record.tag = consumerTrustKey.tag(Self.consumerContext(record, vaultID: vault.vaultID))
        try vault.store.write {
            guard try !vault.store.agentConsumers.all().contains(where: { $0.name == name.rawValue }) else {
                throw VaultError(.alreadyExists, "a consumer named \(name) exists already.")
            }
            try vault.store.agentConsumers.insert(record)
            try self.record(.consumerAdded, detail: "consumer \(name) may ask for \(record.clients)")
        }
        return credential
    }

    /// Removes consumer `name`: its credential stops working at once.
    /// - Throws: `VaultError.notFound`.
    public func removeConsumer(_ name: Name) throws {
        try vault.store.write {
            guard try vault.store.agentConsumers.remove(name: name.rawValue) else {
                throw VaultError(.notFound, "no consumer named \(name).")
            }
            try self.record(.consumerRemoved, detail: "consumer \(name)")
        }
    }

    /// The consumer whose credential is `credential`, if one is and its row is as cloak wrote it.
    public func consumer(presenting credential: String) throws -> AgentConsumer? {
        guard credential.hasPrefix(Self.consumerCredentialPrefix) else { return nil }
        let digest = Sodium.digest(Array(credential.utf8))
        for record in try vault.store.agentConsumers.all() where Sodium.constantTimeEqual(record.credentialDigest, digest) {
            // A row added or widened outside cloak has no tag this key made.
            guard consumerTrustKey.verify(record.tag, for: Self.consumerContext(record, vaultID: vault.vaultID)) else { return nil }
            return Vault.consumer(record)
        }
        return nil
    }

    /// Re-makes every consumer's tag under `target`'s key (rekey), after checking each under this one.
    func retagConsumers(using target: UnlockedVault) throws {
        for record in try vault.store.agentConsumers.all() {
            guard consumerTrustKey.verify(record.tag, for: Self.consumerContext(record, vaultID: vault.vaultID)) else {
                throw VaultError(.corrupted, "the agent consumer \(record.name) was changed outside cloak; remove it and add it again. Nothing was changed.")
            }
        }
        try vault.store.agentConsumers.retag { target.consumerTrustKey.tag(Self.consumerContext($0, vaultID: target.vault.vaultID)) }
    }

    static func consumerContext(_ record: AgentConsumerRecord, vaultID: [UInt8]) -> AssociatedData {
        var context = AssociatedData("cloakroom agent-consumer v1")
        context.append(bytes: vaultID)
        context.append(record.name)
        context.append(record.clients)
        context.append(bytes: record.credentialDigest)
        context.append(record.createdAt)
        return context
    }
}

extension Vault {
    /// The agent's consumers, by name (what each may ask for; never a credential).
    public func consumers() throws -> [AgentConsumer] {
        try store.agentConsumers.all().map(Self.consumer)
    }

    static func consumer(_ record: AgentConsumerRecord) -> AgentConsumer {
        AgentConsumer(name: Name(trusted: record.name), clients: record.clients.split(separator: " ").map(String.init),
                      createdAt: Date(unixSeconds: record.createdAt))
    }
}
