variable "repository_name" {
  type        = string
  description = "Name of the ECR repository for the one Sonrisa image."

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.repository_name))
    error_message = "ECR repository names are lowercase, with . _ - and / separators."
  }
}

variable "keep_release_images" {
  type        = number
  description = "How many release images (tags starting with v) to keep; older ones expire, so a rollback can go this many releases back."
  default     = 30

  validation {
    condition     = var.keep_release_images >= 5
    error_message = "Keep at least 5 releases to roll back to."
  }
}

variable "untagged_expiry_days" {
  type        = number
  description = "Days after which untagged images (build leftovers) and non-release tags expire."
  default     = 14

  validation {
    condition     = var.untagged_expiry_days >= 1
    error_message = "At least one day."
  }
}
