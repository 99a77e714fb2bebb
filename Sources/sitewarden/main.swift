import SitewardenCore

print("sitewarden \(sitewardenVersion)")
