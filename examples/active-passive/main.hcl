# Active-passive warm standby: the B2B SaaS default.
#
# us-east-1 serves every request and holds the writable database; eu-west-1 runs a warm
# standby at 40 % of full capacity with a streaming replica. Route 53 failover records move
# traffic when the primary's health check fails.
#
# Recovery floor when us-east-1 is lost: detect 10 s x 3 = 30 s, then the slowest of DNS TTL
# 60 s, replica promotion 60 s and scale-up 10 m => about 10.5 minutes, inside the 5-15 minute
# band of a warm standby.

objectives {
  rto          = "15m"
  rpo          = "5s"
  monthly_cost = 20000
}

service "billing" {
  zone    = "example.com"
  domain  = "billing.example.com"
  routing = "failover"
  ttl     = 60

  health_check {
    type              = "HTTPS"
    port              = 443
    path              = "/healthz"
    interval          = 10
    failure_threshold = 3
  }

  region "us-east-1" {
    role   = "primary"
    target = "billing-use1.example.com"
  }

  region "eu-west-1" {
    role     = "secondary"
    target   = "billing-euw1.example.com"
    capacity = 0.4  # warm standby
    scale_up = "10m"
  }

  data {
    pattern         = "primary-replica"
    primary         = "us-east-1"
    replication_lag = "200ms"
    promotion       = "60s" # Aurora Global Database managed failover
  }

  cost {
    compute_per_region  = 9000
    queries_per_month   = 50000000
    replicated_gb_month = 300
    database_per_region = 2500
  }
}

registry "billing-images" {
  source       = "us-east-1"
  destinations = ["eu-west-1"]
  repositories = ["billing/api", "billing/worker"]
  storage_gb   = 40
}
