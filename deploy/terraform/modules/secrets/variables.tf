variable "name" {
  type        = string
  description = "Name prefix for the key and the reader policy, e.g. sonrisa-prod."
}

variable "app_secret_name" {
  type        = string
  description = "Name of the Secrets Manager secret whose JSON keys become the Kubernetes Secret sonrisa-secrets (terraform output app_secret_name)."

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]{1,512}$", var.app_secret_name))
    error_message = "Secrets Manager names use letters, digits and /_+=.@- (at most 512)."
  }
}

variable "recovery_window_in_days" {
  type        = number
  description = "Days a deleted secret can still be restored. Losing CLINIC_AUDIT_KEY or CLINIC_DATA_KEY makes the access log unverifiable and sealed data unreadable, so keep the longest window."
  default     = 30

  validation {
    condition     = var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30
    error_message = "Secrets Manager accepts 7 to 30 days here (0, immediate deletion, is not allowed on purpose)."
  }
}
