import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `cloak token REALM/NAME` served from the vault's cache without swift-argument-parser.
///
/// The parser builds its command tree by reflection, and each dynamic cast it makes scans the
/// binary's protocol conformances: about 3 ms of a 10 ms process, more than the whole budget
/// for a cached token (3× `sqlite3 VAULT 'select 1'`). This path understands only the common
/// shape — `token REF [--format raw|json|header] [--min-ttl N] [--vault P] [--key-file P]` with a
/// key file — and only a cache hit. Anything else and every error returns `nil` and the full
/// command runs, with its own messages; a miss also hands the unlocked vault on (`HandOff`), so
/// the full command does not open and unlock it again.
enum FastToken {
    static func run(_ arguments: [String]) -> Int32? {
        guard arguments.first == "token", arguments.count >= 2 else { return nil }
        var ref: String?
        var format = "raw"
        var minTTL: Double = 30
        var vaultPath = Environment.value("CLOAK_VAULT")
        var keyPath = Environment.value("CLOAK_KEY_FILE")
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            let value = index + 1 < arguments.count ? arguments[index + 1] : nil
            switch argument {
            case "--format": guard let value, ["raw", "json", "header"].contains(value) else { return nil }; format = value; index += 1
            case "--min-ttl": guard let value, let seconds = Double(value), (0...Durations.longest).contains(seconds) else { return nil }; minTTL = seconds; index += 1
            case "--vault": guard let value else { return nil }; vaultPath = value; index += 1
            case "--key-file": guard let value else { return nil }; keyPath = value; index += 1
            default:
                guard ref == nil, !argument.hasPrefix("-") else { return nil }
                ref = argument
            }
            index += 1
        }
        guard let ref, let keyPath = keyPath ?? VaultOptions.defaultKeyFile() else { return nil }
        // A malformed setting is reported (exit 2) by the full command, even on a cache hit.
        for setting in EnvironmentSetting.all {
            guard (try? Durations.environment(setting, fallback: 0)) != nil else { return nil }
        }
        do {
            let vaultPath = Paths.vault(vaultPath ?? Vault.defaultPath(environment: Environment.value))
            let keyPath = Paths.absolute(keyPath)
            let vault = try Vault.open(at: vaultPath, busyTimeout: VaultOptions.busyTimeout)
            let unlocked = try vault.unlock(with: [.keyFile(KeyFile.load(from: keyPath))])
            var configuration = TokenBroker.Configuration()
            configuration.minimumTTL = .seconds(minTTL)
            let entry = try TokenBroker.cacheEntry(in: unlocked, for: ref, configuration: configuration)
            guard let token = entry, TokenBroker.isFresh(token, minimumTTL: .seconds(minTTL), in: configuration) else {
                HandOff.give(unlocked, vaultPath: vaultPath, keyFilePath: keyPath, missed: (ref, entry))
                return nil
            }
            let grant = TokenBroker.Grant(token: token, source: .cache)
            let kind: TokenCommand.Format = format == "json" ? .json : format == "header" ? .header : .raw
            Output.write(TokenOutput.render(grant, format: kind, envVar: "ACCESS_TOKEN", now: Date()))
            return 0
        } catch {
            return nil
        }
    }
}
