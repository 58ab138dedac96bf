import Hummingbird

/// What an endpoint answered, and whom the request was about (for the counters).
struct Outcome {
    var response: Response
    var clientId: String?
}
