/// The version `sitewarden --version` prints.
public let sitewardenVersion = "0.1.0"
