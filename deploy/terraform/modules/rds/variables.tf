variable "name" {
  type        = string
  description = "Identifier of the DB instance and prefix of its companions, e.g. sonrisa-prod-pg."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name))
    error_message = "RDS identifiers are lowercase letters, digits and hyphens, starting with a letter, at most 63."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the database."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets (two or more zones) for the DB subnet group."

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "A DB subnet group needs subnets in at least two zones."
  }
}

variable "client_security_group_id" {
  type        = string
  description = "Security group of the EKS nodes: the only source allowed to open PostgreSQL connections."
}

variable "engine_version" {
  type        = string
  description = "PostgreSQL version. A major version alone (16) lets RDS pick the current minor and apply minor upgrades in the maintenance window."
  default     = "16"

  validation {
    condition     = can(regex("^16(\\.[0-9]+)?$", var.engine_version))
    error_message = "Sonrisa is built and tested on PostgreSQL 16."
  }
}

variable "instance_class" {
  type        = string
  description = "DB instance class."
  default     = "db.m6g.large"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "RDS instance classes start with db."
  }
}

variable "allocated_storage_gb" {
  type        = number
  description = "Initial gp3 storage in GiB."
  default     = 50

  validation {
    condition     = var.allocated_storage_gb >= 20
    error_message = "At least 20 GiB."
  }
}

variable "max_allocated_storage_gb" {
  type        = number
  description = "Storage autoscaling ceiling in GiB: the event store only grows, and a full disk stops every write."
  default     = 500
}

variable "multi_az" {
  type        = bool
  description = "Synchronous standby in another zone with automatic failover. Required for prod; staging may save the cost."
  default     = true
}

variable "backup_retention_days" {
  type        = number
  description = "Days of automated backups, which is also how far back point-in-time recovery reaches."
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "Keep 7 to 35 days (RDS' maximum); point-in-time recovery needs backups on."
  }
}

variable "monitoring_interval_seconds" {
  type        = number
  description = "Enhanced Monitoring granularity (OS metrics of the DB host)."
  default     = 60

  validation {
    condition     = contains([1, 5, 10, 15, 30, 60], var.monitoring_interval_seconds)
    error_message = "Enhanced Monitoring accepts 1, 5, 10, 15, 30 or 60 seconds (0 would turn it off)."
  }
}

variable "database_name" {
  type        = string
  description = "Database created at launch; CLINIC_DATABASE_URL points at it."
  default     = "sonrisa"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "Lowercase letters, digits and underscores, starting with a letter."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the PostgreSQL logs."
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Keep at least a year (365), in a retention CloudWatch accepts."
  }
}

variable "final_snapshot_on_delete" {
  type        = bool
  description = "Take a final snapshot if the instance is ever deleted (after deletion protection has been turned off by hand)."
  default     = true
}
