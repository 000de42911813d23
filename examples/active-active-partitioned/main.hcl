# Active-active, partitioned by user: a consumer product with global users.
#
# Three regions serve live traffic, each the writer for the users homed there (EU users in
# eu-west-1, and so on). Latency routing sends each resolver to the closest healthy region.
# Losing a region costs detection (10 s x 3) plus the 60 s TTL, about 90 s, and the lost
# shard's replica promotion runs alongside.

objectives {
  rto          = "2m"
  rpo          = "1s"
  monthly_cost = 40000
}

service "api" {
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "latency"

  health_check {
    type              = "HTTPS"
    path              = "/healthz"
    interval          = 10
    failure_threshold = 3
    regions           = ["us-east-1", "eu-west-1", "ap-southeast-1"]
  }

  region "us-east-1" {
    alias {
      name                   = "dualstack.api-use1-123456.us-east-1.elb.amazonaws.com"
      zone_id                = "Z35SXDOTRQ7X7K"
      evaluate_target_health = true
    }
  }

  region "eu-west-1" {
    alias {
      name                   = "dualstack.api-euw1-123456.eu-west-1.elb.amazonaws.com"
      zone_id                = "Z32O12XQLNTSW2"
      evaluate_target_health = true
    }
  }

  region "ap-southeast-1" {
    alias {
      name                   = "dualstack.api-apse1-123456.ap-southeast-1.elb.amazonaws.com"
      zone_id                = "Z1LMS91P8CMLE5"
      evaluate_target_health = true
    }
  }

  data {
    pattern         = "partitioned"
    replication_lag = "200ms"
    promotion       = "45s"
  }

  cost {
    compute_per_region  = 8000
    queries_per_month   = 300000000
    replicated_gb_month = 500
    database_per_region = 2000
  }
}
