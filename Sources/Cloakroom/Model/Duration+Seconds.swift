extension Duration {
    /// This duration in seconds, as a `Double`: for arithmetic with `Date`, whose intervals are
    /// `TimeInterval`s. The library's API speaks `Duration`; the arithmetic inside stays in seconds.
    package var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
