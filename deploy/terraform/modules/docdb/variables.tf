variable "name" {
  type        = string
  description = "Identifier of the DocumentDB cluster, e.g. sonrisa-prod-docdb."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name))
    error_message = "Lowercase letters, digits and hyphens, starting with a letter, at most 63."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the cluster."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets (two or more zones) for the DocumentDB subnet group."

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "A DocumentDB subnet group needs subnets in at least two zones."
  }
}

variable "client_security_group_id" {
  type        = string
  description = "Security group of the EKS nodes: the only source allowed to connect on 27017."
}

variable "instance_class" {
  type        = string
  description = "Instance class of every cluster instance."
  default     = "db.r6g.large"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "DocumentDB instance classes start with db."
  }
}

variable "instance_count" {
  type        = number
  description = "Instances in the cluster: one primary and the rest replicas, spread over zones. 3 for prod (failover within a zone loss), 1 is enough for staging."
  default     = 3

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 16
    error_message = "DocumentDB clusters have 1 to 16 instances."
  }
}

variable "backup_retention_days" {
  type        = number
  description = "Days of continuous backups (point-in-time restore window). The read models are rebuildable from the event store, but a restore is faster than a rebuild."
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "Keep 7 to 35 days."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the DocumentDB audit log."
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Keep at least a year (365), in a retention CloudWatch accepts."
  }
}

variable "master_username" {
  type        = string
  description = "Master user created with the cluster. Use it only to create the application's own user (deploy/terraform/README.md)."
  default     = "sonrisa_admin"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.master_username)) && !contains(["admin", "root"], var.master_username)
    error_message = "A letter then letters, digits or underscores; admin and root are reserved."
  }
}

variable "credentials_kms_key_arn" {
  type        = string
  description = "Customer managed key encrypting the Secrets Manager secret that holds the master credentials."
}
