import CloakIdP
import Testing

@Suite("Configuration file")
struct ConfigurationTests {
    @Test func readsRealmsClientsRolesAndSwitches() throws {
        let text = """
            {
              "keycloakVersion": "26.7",
              "compatibility": {"jtiPrefix": false},
              "realms": [
                {"realm": "r1", "accessTokenLifespan": 120, "secretRotation": {"rotatedExpirationPeriod": 60},
                 "clients": [
                   {"clientId": "broker-svc", "secret": "S3cr3t", "attributes": {"access.token.lifespan": "30"}},
                   {"clientId": "kc-admin", "secret": "A", "serviceAccountRoles": {"clients": {"realm-management": ["manage-clients"]}}},
                   {"clientId": "pub", "publicClient": true}
                 ]}
              ]
            }
            """
        let configuration = try IdPConfiguration(json: try JSONParser.parse(text))
        #expect(configuration.compatibility.secretLength == 86)
        #expect(configuration.compatibility.jtiPrefix == false)
        let realm = try #require(configuration.realms.first)
        #expect(realm.accessTokenLifespan == 120)
        #expect(realm.secretRotation == SecretRotationPolicy(expirationPeriod: 2_592_000, rotatedExpirationPeriod: 60))
        #expect(realm.clients.map(\.clientId) == ["broker-svc", "kc-admin", "pub"])
        #expect(realm.clients[1].clientRoles == ["realm-management": ["manage-clients"]])
        #expect(realm.clients[2].publicClient)
    }

    struct BadFile: Sendable, CustomTestStringConvertible {
        let text: String
        let message: String
        var testDescription: String { message }
    }

    static let badFiles = [
        BadFile(text: #"{"realms":[{"realm":"r1","clients":[{"clientId":"a","secret":"TopSecret","enabld":true}]}]}"#,
                message: "realms[0].clients[0] has an unknown key 'enabld'"),
        BadFile(text: #"{"realms":[{"realm":"r1","clients":[{"clientId":"a","secret":"TopSecret"},{"clientId":"a","secret":"TopSecret"}]}]}"#,
                message: "client 'a' is defined twice in realm 'r1'"),
        BadFile(text: #"{"realms":[{"realm":"r1","accessTokenLifespan":"300"}]}"#,
                message: "realms[0].accessTokenLifespan must be an integer"),
        BadFile(text: #"{"keycloakVersion":"latest"}"#, message: "keycloakVersion must look like 26 or 26.7, not 'latest'"),
    ]

    @Test(arguments: badFiles)
    func refusesWithAClearMessageAndNoSecret(_ bad: BadFile) throws {
        let error = try #require(throws: ConfigurationError.self) { try IdPConfiguration(json: try JSONParser.parse(bad.text)) }
        #expect(error.message == bad.message)
        #expect(!error.message.contains("TopSecret"))
    }

    @Test func clientDescriptionHidesTheSecret() {
        let client = ClientConfiguration(clientId: "a", secret: "TopSecret")
        #expect(!String(describing: client).contains("TopSecret"))
        #expect(!String(reflecting: client).contains("TopSecret"))
    }

    @Test(arguments: [
        (#"{"a":[1,2.5,"x\n\u00e9",true,null,{"b":{}}]}"#, #"{"a":[1,2.5,"x\né",true,null,{"b":{}}]}"#),
        (#" {"z":1,"a":2} "#, #"{"z":1,"a":2}"#),
    ])
    func jsonRoundTripKeepsOrder(_ input: String, _ output: String) throws {
        #expect(try JSONParser.parse(input).serialized == output)
    }

    @Test(arguments: [#"{"a":}"#, #"[1,]"#, #"{"a":1} x"#, "\"\u{01}\"", ""])
    func jsonParserRefusesMalformedText(_ input: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(input) }
    }
}
