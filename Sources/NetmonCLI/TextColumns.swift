/// Fixed-width table columns. A value longer than its column keeps its full length: a row may
/// shift, but nothing is ever cut off.
extension String {
    /// Left-aligned in a column of `width` characters (padded with spaces on the right).
    public func leftAligned(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// Right-aligned in a column of `width` characters (padded with spaces on the left).
    public func rightAligned(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
