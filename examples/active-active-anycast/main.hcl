# Active-active, fully distributed: a ledger that cannot serve a dirty read under failover.
#
# A Global Accelerator (managed outside Meridian) sits in front of three regions; Meridian
# plans one alias record to it, so failover waits for no DNS TTL. The accelerator checks the
# Elastic IP endpoint in ap-southeast-1 itself (10 s x 3 = 30 s) and follows the load
# balancers' own health checks in us-east-1 and eu-west-1 (10 s x 3 unhealthy = 30 s, declared
# as lb_detection). Floor: 30 s + no TTL = 30 s.
# The database is multi-master with strong consistency (Spanner / CockroachDB style) over
# three voting regions: losing one keeps a write quorum (2 of 3), nothing to promote and no
# data lost, paid for with a cross-region quorum on every write.

objectives {
  rto          = "45s"
  rpo          = "0s"
  monthly_cost = 60000
}

service "ledger" {
  zone    = "example.com"
  domain  = "ledger.example.com"
  routing = "latency"

  anycast {
    accelerator  = "a1234567890abcdef.awsglobalaccelerator.com"
    interval     = 10
    threshold    = 3
    lb_detection = "30s"
  }

  region "us-east-1" {
    alias {
      name                   = "ledger-use1-0123456789.elb.us-east-1.amazonaws.com"
      zone_id                = "Z26RNL4JYFTOTI"
      evaluate_target_health = true
    }
  }

  region "eu-west-1" {
    alias {
      name                   = "ledger-euw1-0123456789.elb.eu-west-1.amazonaws.com"
      zone_id                = "Z2IFOLAFXWLO4F"
      evaluate_target_health = true
    }
  }

  region "ap-southeast-1" {
    ips = ["203.0.113.10", "203.0.113.11"]
  }

  data {
    pattern         = "multi-master"
    consistency     = "strong"
    replication_lag = "0s"
  }

  cost {
    compute_per_region  = 15000
    queries_per_month   = 100000000
    replicated_gb_month = 2000
    database_per_region = 3000
    quorum_gb_month     = 1500
    anycast_gb_month    = 5000
  }
}

registry "ledger-images" {
  source       = "us-east-1"
  destinations = ["eu-west-1", "ap-southeast-1"]
  repositories = ["ledger"]
  storage_gb   = 25
}
