import Cloakroom
import Synchronization
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// How each realm's identity provider answered last: for `/v1/health`.
final class IdPReachability: Sendable {
    struct Entry: Sendable {
        var reachable: Bool
        var at: Date
        var problem: String?
    }

    private let table = Mutex<[String: Entry]>([:])

    var snapshot: [String: Entry] { table.withLock { $0 } }

    /// Records what an exchange says of `realm`'s IdP: reached (a token from it, or a refusal of
    /// the credentials, which it had to be reached to make), or not (unreachable, nonsense, a TLS
    /// or URL refusal, or a stale token served because of one). A token from memory or the vault
    /// says nothing.
    func note(_ result: Result<TokenBroker.Source, any Error>, realm: Name, stale: String? = nil) {
        let entry: Entry
        switch result {
        case .success(let source):
            if let stale { entry = Entry(reachable: false, at: Date(), problem: stale) }
            else if source == .idp { entry = Entry(reachable: true, at: Date()) }
            else { return }
        case .failure(let error):
            guard let code = (error as? any CloakroomError)?.code else { return }
            switch code {
            case .idpUnavailable, .idpMalformed, .idpRefused: entry = Entry(reachable: false, at: Date(), problem: "\(error)")
            case .credentialsRejected, .tokenInvalid: entry = Entry(reachable: true, at: Date())
            default: return
            }
        }
        table.withLock { $0[realm.rawValue] = entry }
    }
}
