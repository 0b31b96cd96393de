variable "name" {
  type        = string
  description = "Alias of the key without the alias/ prefix, e.g. sonrisa-prod-rds."

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,200}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "The alias must be 1-200 of [a-zA-Z0-9/_-] and must not start with aws/ (reserved for AWS managed keys)."
  }
}

variable "description" {
  type        = string
  description = "What the key protects, shown in the KMS console."
}

variable "for_cloudwatch_logs" {
  type        = bool
  description = "Let CloudWatch Logs in this region use the key, for log groups of this account only (the encryption context names the log group)."
  default     = false
}

variable "user_role_arns" {
  type        = list(string)
  description = "IAM role ARNs (including service-linked roles) that may use the key for encrypt/decrypt and create grants for AWS services."
  default     = []
}

variable "deletion_window_in_days" {
  type        = number
  description = "Waiting period before a scheduled key deletion completes; the longest window gives the most time to notice a mistake that would make backups unreadable."
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "KMS accepts 7 to 30 days."
  }
}
