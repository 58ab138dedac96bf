import CloakroomCrypto
import CloakroomStore
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

// The audit log: append-only rows, each MAC'd over its predecessor's MAC and its own fields
// (a hash chain), and a MAC'd head recording the count and the last MAC. See migrations/0004.

extension Vault {
    /// Audit events, oldest first: all of them, or those of one client or realm, since a time,
    /// the newest `limit`. Reading needs no key (anyone with the file can read them);
    /// `UnlockedVault.verifyAuditLog()` checks them.
    /// - Parameter client: only events about this client (removed clients included).
    /// - Parameter realm: only events about this realm or its clients.
    /// - Parameter since: only events recorded at or after this time.
    /// - Parameter limit: at most this many, the newest (still returned oldest first).
    /// - Throws: `VaultError` when the vault cannot be read.
    public func events(client: ClientRef? = nil, realm: Name? = nil, since: Date? = nil, limit: Int? = nil) throws -> [AuditEvent] {
        if let client, let realm, client.realm != realm { return [] }  // both asked for: nothing is about two realms
        let records = try store.auditLog.events(realm: client?.realm.rawValue ?? realm?.rawValue, client: client?.name.rawValue,
                                                since: since?.milliseconds, limit: limit)
        return records.map { event in
            AuditEvent(
                seq: event.seq, time: Date(milliseconds: event.time), user: event.user, host: event.host, command: event.command,
                action: event.action, realm: event.realm.map(Name.init(trusted:)), client: event.client.map(Name.init(trusted:)),
                outcome: event.outcome, detail: event.detail)
        }
    }
}

extension UnlockedVault {
    /// The MAC of the event before the first: the chain starts from 32 zero bytes.
    static let auditGenesis = [UInt8](repeating: 0, count: MACKey.tagCount)
    static let maximumDetailLength = 512

    /// Audit events, oldest first; see `Vault.events(client:realm:since:limit:)`.
    /// - Throws: `VaultError` when the vault cannot be read.
    public func events(client: ClientRef? = nil, realm: Name? = nil, since: Date? = nil, limit: Int? = nil) throws -> [AuditEvent] {
        try vault.events(client: client, realm: realm, since: since, limit: limit)
    }

    /// Appends one event. Inside the caller's write transaction when one is open (so the event
    /// commits or rolls back with the change it records), else in its own.
    ///
    /// The previous MAC and the count are read inside the write transaction, holding the log
    /// (SQLite's write lock; PostgreSQL's audit lock), so appends from several processes form one chain.
    /// - Parameter detail: a short note, cut to 512 bytes. Never a secret.
    func record(_ action: AuditAction, realm: Name? = nil, client: Name? = nil, outcome: AuditOutcome = .ok, detail: String = "") throws {
        // Inside a write, simply part of it: if the append fails, so does the write (no savepoint
        // of its own, which on a server would cost two round trips per event).
        if vault.store.isInWriteTransaction { return try appendEvent(action, realm: realm, client: client, outcome: outcome, detail: detail) }
        try vault.store.write {
            try appendEvent(action, realm: realm, client: client, outcome: outcome, detail: detail)
        }
    }

    /// `record`, for an event about a failure that is already being reported: it may not replace
    /// that error with its own (a read-only vault, another writer holding the lock), nor keep the
    /// user waiting long for the lock. Returns whether the event was written.
    @discardableResult
    func recordIfPossible(_ action: AuditAction, realm: Name? = nil, client: Name? = nil, outcome: AuditOutcome, detail: String) -> Bool {
        do {
            // A savepoint of its own when nested: a failed append is undone, and the change it
            // is nested in goes on without it.
            try vault.store.waitingForWriteLock(upTo: .milliseconds(500)) {
                try vault.store.write { try appendEvent(action, realm: realm, client: client, outcome: outcome, detail: detail) }
            }
            return true
        } catch {
            return false
        }
    }

    private func appendEvent(_ action: AuditAction, realm: Name?, client: Name?, outcome: AuditOutcome, detail: String) throws {
        precondition(client == nil || realm != nil, "an event about a client names its realm")
        // The head is the authority on where the chain ends: after a truncation the next event
        // keeps the gap (and the broken link) visible instead of papering over it. Read once the
        // log is ours until the transaction ends (writers of different clients may run at once).
        try vault.store.auditLog.holdForAppend()
        let (head, last) = try vault.store.auditLog.tail()
        let count: Int64
        let previous: [UInt8]
        if let head {
            count = max(head.count, last?.seq ?? 0)
            previous = head.lastMAC
        } else if let last {
            count = last.seq
            previous = last.mac
        } else {
            count = 0
            previous = Self.auditGenesis
        }
        let event = AuditEventRecord(
            seq: count + 1, time: vault.clock().milliseconds, user: AuditContext.user, host: AuditContext.host,
            command: AuditContext.recordedCommand, action: action.rawValue, realm: realm?.rawValue, client: client?.rawValue,
            outcome: outcome.rawValue, detail: AuditContext.clipped(detail, to: Self.maximumDetailLength))
        let mac = auditKey.tag(eventMessage(event, after: previous))
        try vault.store.auditLog.append(event, mac: mac)
        try writeAuditHead(count: event.seq, lastMAC: mac, key: auditKey)
    }

    private func writeAuditHead(count: Int64, lastMAC: [UInt8], key: MACKey) throws {
        try vault.store.auditLog.setHead(AuditHeadRecord(count: count, lastMAC: lastMAC, mac: key.tag(headMessage(count: count, lastMAC: lastMAC))))
    }

    /// Writes the head of an empty log: a vault created with the audit log has one from the start,
    /// so that wiping its log later is reported. Inside the caller's transaction.
    func startAuditLog() throws {
        try writeAuditHead(count: 0, lastMAC: Self.auditGenesis, key: auditKey)
    }

    // MARK: Verifying

    /// Checks the whole chain and the head under this vault's key. Reads every event once.
    /// - Throws: `VaultError` only when the vault cannot be read; what is wrong with the log
    ///   is in the result.
    public func verifyAuditLog() throws -> AuditVerification {
        try vault.store.read { try verifyAuditLog(with: auditKey) }
    }

    func verifyAuditLog(with key: MACKey) throws -> AuditVerification {
        var result = AuditVerification(eventCount: 0, lastSeq: 0, problems: [], unlistedProblems: 0, hasHead: false)
        func report(_ kind: AuditVerification.Problem.Kind, _ events: ClosedRange<Int64>?, _ message: String) {
            if result.problems.count < AuditVerification.listedProblemLimit {
                result.problems.append(.init(kind: kind, events: events, message: message))
            } else {
                result.unlistedProblems += 1
            }
        }
        var previous = Self.auditGenesis
        var lastSeq: Int64 = 0
        try vault.store.auditLog.forEachEvent { event, mac in
            result.eventCount += 1
            if !key.verify(mac, for: eventMessage(event, after: previous)) {
                if event.seq > lastSeq + 1 {
                    let gone = (lastSeq + 1)...(event.seq - 1)
                    report(.missing, gone, "\(Self.describe(gone)) deleted from the audit log: event \(event.seq) no longer follows the event it was chained to. Restore the vault from a backup to see what was removed.")
                } else {
                    report(.altered, event.seq...event.seq, "audit event \(event.seq) (\(event.summary)) was altered after it was written: its MAC does not match. What it says now cannot be trusted; a backup has the original.")
                }
            }
            // Chained to what is stored, so one edited event is reported once, not with all after it.
            previous = mac
            lastSeq = event.seq
        }
        result.lastSeq = lastSeq

        guard let head = try vault.store.auditLog.head() else {
            if result.eventCount > 0 {
                report(.headMissing, nil, "the audit log's head (its event count and last MAC) was deleted: events removed from the end of the log could not be noticed. The next change writes a new head.")
            }
            return result
        }
        result.hasHead = true
        if !key.verify(head.mac, for: headMessage(count: head.count, lastMAC: head.lastMAC)) {
            report(.headAltered, nil, "the audit log's head (its event count and last MAC) was altered: it does not verify, so a cut at the end of the log cannot be ruled out.")
        } else if head.count > lastSeq {
            let gone = (lastSeq + 1)...head.count
            report(.truncated, gone, "\(Self.describe(gone)) deleted from the end of the audit log: its head records \(head.count) event(s), the last one present is \(lastSeq). Restore the vault from a backup to see what was removed.")
        } else if head.count < lastSeq {
            report(.headMismatch, (head.count + 1)...lastSeq, "audit events after \(head.count) were added outside cloak: the log's head ends at event \(head.count).")
        } else if head.lastMAC != previous {
            report(.headMismatch, lastSeq...lastSeq, "the newest audit event (\(lastSeq)) is not the one the log's head recorded: it was replaced.")
        }
        return result
    }

    private static func describe(_ range: ClosedRange<Int64>) -> String {
        range.count == 1 ? "audit event \(range.lowerBound) was" : "audit events \(range.lowerBound)–\(range.upperBound) were"
    }

    // MARK: Rekeying

    /// Re-MACs every event and the head under `target`'s key, as they are now: the new chain
    /// starts again from the first event. Inside the caller's transaction (rekey's). Events are
    /// read in batches, so a long log does not have to fit in memory.
    /// - Returns: how many events were re-MAC'd.
    func reauthenticateAuditLog(for target: UnlockedVault) throws -> Int {
        var previous = Self.auditGenesis
        var lastSeq: Int64 = 0
        var total = 0
        while true {
            let batch = try vault.store.auditLog.events(after: lastSeq, limit: 1000)
            guard !batch.isEmpty else { break }
            for event in batch {
                let mac = target.auditKey.tag(target.eventMessage(event, after: previous))
                try vault.store.auditLog.setMAC(mac, seq: event.seq)
                previous = mac
                lastSeq = event.seq
            }
            total += batch.count
        }
        try target.writeAuditHead(count: lastSeq, lastMAC: previous, key: target.auditKey)
        return total
    }

    // MARK: What is MAC'd

    /// The canonical bytes an event's MAC covers: the previous MAC, this vault, and every field,
    /// each length-prefixed (an absent realm or client differs from an empty one).
    func eventMessage(_ event: AuditEventRecord, after previous: [UInt8]) -> AssociatedData {
        var message = AssociatedData("cloakroom audit event v1")
        message.append(bytes: vault.vaultID)
        message.append(bytes: previous)
        message.append(event.seq)
        message.append(event.time)
        message.append(event.user)
        message.append(event.host)
        message.append(event.command)
        message.append(event.action)
        message.append(optional: event.realm)
        message.append(optional: event.client)
        message.append(event.outcome)
        message.append(event.detail)
        return message
    }

    func headMessage(count: Int64, lastMAC: [UInt8]) -> AssociatedData {
        var message = AssociatedData("cloakroom audit head v1")
        message.append(bytes: vault.vaultID)
        message.append(count)
        message.append(bytes: lastMAC)
        return message
    }
}

extension AuditEventRecord {
    /// Time, action and subject as stored, for messages.
    var summary: String {
        let subject = [realm, client].compactMap { $0 }.joined(separator: "/")
        // As stored, so possibly an attacker's text: no control characters reach a terminal.
        return AuditContext.clipped("\(Date(milliseconds: time).iso8601), \(action)\(subject.isEmpty ? "" : " " + subject)", to: 200)
    }
}
