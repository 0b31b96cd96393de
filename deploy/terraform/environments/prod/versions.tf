terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  # Partial configuration: bucket, key, region, kms_key_id and use_lockfile are given at
  # `terraform init -backend-config=backend.hcl` (see backend.hcl.example and ../../README.md),
  # so no account detail is committed.
  backend "s3" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.region

  # Every resource says what it is and that it holds health data, for cost reports and
  # for the data inventory the GDPR asks for (record of processing activities).
  default_tags {
    tags = {
      Project            = "sonrisa"
      Environment        = local.environment
      DataClassification = "health"
      ManagedBy          = "terraform"
    }
  }
}
