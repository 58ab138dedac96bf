extension Duration {
    /// This duration in seconds, as a `Double`: for arithmetic with `Date`, whose intervals are
    /// `TimeInterval`s. The library's API speaks `Duration`; the arithmetic inside stays in seconds.
    package var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Duration {
    /// Whole seconds in the largest unit that divides them: `2w`, `30d`, `12h`, `90m`, `45s`, as
    /// `cloak` takes durations (and as the audit log says them).
    package var compactText: String {
        let whole = components.seconds
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3600), ("m", 60)] where whole >= size && whole % size == 0 {
            return "\(whole / size)\(unit)"
        }
        return "\(whole)s"
    }
}
