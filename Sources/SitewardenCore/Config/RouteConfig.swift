/// One HTTP check of a target's running service (a `[[target.route]]` table).
public struct RouteConfig: Sendable, Equatable {
    public static let defaultExpectStatus = 200
    public static let defaultTimeout: Duration = .seconds(5)

    /// An http:// or https:// URL.
    public var url: String
    /// The status the response must have, 100–599.
    public var expectStatus: Int
    /// Text the response body must contain, or nil to ignore the body.
    public var expectBody: String?
    /// How long the whole request may take.
    public var timeout: Duration

    public init(
        url: String,
        expectStatus: Int = defaultExpectStatus,
        expectBody: String? = nil,
        timeout: Duration = defaultTimeout
    ) {
        self.url = url
        self.expectStatus = expectStatus
        self.expectBody = expectBody
        self.timeout = timeout
    }
}
