# Container images: built once in us-east-1 and replicated to every serving region, so no
# region pulls across regions to start a task (static stability).

registry "images" {
  source       = "us-east-1"
  destinations = ["eu-west-1", "ap-southeast-1"]
  repositories = ["api", "worker"]
  storage_gb   = 60
}
