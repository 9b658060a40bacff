# Grafana's access path: an internal ALB (private subnets, reachable only from
# inside the VPC: the VPN or an SSM port forward through the bastion, see
# runbooks/MONITORING.md) whose only listener signs the user in through the
# operators' Cognito user pool before it forwards anything to Grafana.
#
# Terraform owns this ALB as it owns the public one: the AWS Load Balancer
# Controller only registers the Grafana pod in the target group
# (deploy/monitoring/manifests/grafana-targetgroupbinding.yaml), so its IAM
# role stays limited to registering targets and no Ingress can create an ALB
# outside Terraform and outside verify.

locals {
  grafana_hostname = "grafana.${var.domain_names[0]}"
  grafana_port     = 3000
}

# --- Sign-in -------------------------------------------------------------------

# The operators' sign-in: administrators create the accounts (no self sign-up)
# and every account needs a TOTP second factor. A corporate IdP can be added
# to this pool as a SAML or OIDC identity provider without touching the ALB.
resource "aws_cognito_user_pool" "operators" {
  name                = "${local.name}-operators"
  deletion_protection = "ACTIVE"
  mfa_configuration   = "ON"

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "admin_only"
      priority = 1
    }
  }
}

resource "aws_cognito_user_pool_domain" "operators" {
  domain       = "${local.name}-operators"
  user_pool_id = aws_cognito_user_pool.operators.id
}

# The ALB is the OAuth client: Cognito returns the user to the ALB's fixed
# callback path, and the client secret never leaves AWS.
resource "aws_cognito_user_pool_client" "grafana" {
  name                                 = "${local.name}-grafana"
  user_pool_id                         = aws_cognito_user_pool.operators.id
  generate_secret                      = true
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = ["https://${local.grafana_hostname}/oauth2/idpresponse"]
}

# --- Certificate and name ------------------------------------------------------

resource "aws_acm_certificate" "grafana" {
  domain_name       = local.grafana_hostname
  validation_method = "DNS"
  key_algorithm     = "RSA_2048"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  tags = { Name = local.grafana_hostname }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "grafana_validation" {
  for_each = {
    for dvo in aws_acm_certificate.grafana.domain_validation_options : dvo.domain_name => {
      name   = dvo.resource_record_name
      type   = dvo.resource_record_type
      record = dvo.resource_record_value
    }
  }

  zone_id         = data.terraform_remote_state.dns.outputs.hosted_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "grafana" {
  certificate_arn         = aws_acm_certificate.grafana.arn
  validation_record_fqdns = [for record in aws_route53_record.grafana_validation : record.fqdn]
}

# A public name for private addresses: it resolves everywhere, and answers
# only inside the VPC.
resource "aws_route53_record" "grafana" {
  zone_id = data.terraform_remote_state.dns.outputs.hosted_zone_id
  name    = local.grafana_hostname
  type    = "A"

  alias {
    name                   = aws_lb.grafana.dns_name
    zone_id                = aws_lb.grafana.zone_id
    evaluate_target_health = false
  }
}

# --- Load balancer -------------------------------------------------------------

resource "aws_security_group" "grafana_alb" {
  name        = "${local.name}-grafana-alb"
  description = "Internal ALB of Grafana: HTTPS from the VPC in, Grafana's port to the VPC out"
  vpc_id      = data.terraform_remote_state.network.outputs.vpc_id

  tags = { Name = "${local.name}-grafana-alb" }
}

resource "aws_vpc_security_group_ingress_rule" "grafana_alb_https" {
  security_group_id = aws_security_group.grafana_alb.id
  description       = "HTTPS from inside the VPC (VPN, SSM port forward)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = data.terraform_remote_state.network.outputs.vpc_cidr_block
}

# The authenticate-cognito action calls Cognito's token endpoint from the ALB.
resource "aws_vpc_security_group_egress_rule" "grafana_alb_cognito" {
  security_group_id = aws_security_group.grafana_alb.id
  description       = "HTTPS to Cognito's token and user-info endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "grafana_alb_to_grafana" {
  security_group_id = aws_security_group.grafana_alb.id
  description       = "To the Grafana pod"
  ip_protocol       = "tcp"
  from_port         = local.grafana_port
  to_port           = local.grafana_port
  cidr_ipv4         = data.terraform_remote_state.network.outputs.vpc_cidr_block
}

resource "aws_vpc_security_group_ingress_rule" "grafana_from_alb" {
  security_group_id            = data.terraform_remote_state.platform.outputs.eks_cluster_security_group_id
  description                  = "Grafana pod from its internal ALB"
  ip_protocol                  = "tcp"
  from_port                    = local.grafana_port
  to_port                      = local.grafana_port
  referenced_security_group_id = aws_security_group.grafana_alb.id
}

resource "aws_lb" "grafana" {
  #checkov:skip=CKV2_AWS_28:Internal ALB, reachable only from inside the VPC, and every request is signed in through Cognito before it is forwarded; the public ALB carries the WAF.
  name                       = "${local.name}-grafana"
  load_balancer_type         = "application"
  internal                   = true
  subnets                    = data.terraform_remote_state.network.outputs.private_subnet_ids
  security_groups            = [aws_security_group.grafana_alb.id]
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "strictest"
  enable_deletion_protection = var.alb_deletion_protection

  # The public ALB's bucket and prefix (its policy admits the ELB service
  # under alb/AWSLogs/<account>/); the file names carry the ALB's name.
  access_logs {
    bucket  = module.edge.alb_logs_bucket
    prefix  = "alb"
    enabled = true
  }
}

resource "aws_lb_target_group" "grafana" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the internal ALB; the hop to the pod stays inside the VPC's private subnets, fenced by security groups.
  name                 = "${local.name}-grafana"
  port                 = local.grafana_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = data.terraform_remote_state.network.outputs.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/api/health"
    matcher             = "200"
    healthy_threshold   = 2
    unhealthy_threshold = 3
    interval            = 15
    timeout             = 5
  }
}

resource "aws_lb_listener" "grafana" {
  load_balancer_arn = aws_lb.grafana.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate_validation.grafana.certificate_arn

  # Nobody reaches Grafana without signing in first.
  default_action {
    type  = "authenticate-cognito"
    order = 1

    authenticate_cognito {
      user_pool_arn              = aws_cognito_user_pool.operators.arn
      user_pool_client_id        = aws_cognito_user_pool_client.grafana.id
      user_pool_domain           = aws_cognito_user_pool_domain.operators.domain
      on_unauthenticated_request = "authenticate"
      session_timeout            = 28800
    }
  }

  default_action {
    type             = "forward"
    order            = 2
    target_group_arn = aws_lb_target_group.grafana.arn
  }
}
