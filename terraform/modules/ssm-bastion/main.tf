# The way in to a private-only EKS API: a small instance in a private subnet
# that Session Manager port-forwards to (AWS-StartPortForwardingSessionToRemoteHost),
# with no inbound rule, no SSH key and no public address. kubectl runs on the
# operator's machine with the operator's own admin role; the instance only
# relays TCP to the API endpoint, so its own role needs nothing but SSM.

data "aws_ssm_parameter" "ami" {
  name = var.ami_parameter
}

module "role" {
  source = "../service-role"

  name             = "${var.name}-bastion"
  service          = "ec2.amazonaws.com"
  managed_policies = ["AmazonSSMManagedInstanceCore"]

  tags = var.tags
}

resource "aws_iam_instance_profile" "this" {
  name = "${var.name}-bastion"
  role = module.role.name

  tags = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-bastion"
  description = "SSM port-forwarding bastion ${var.name}: no ingress; HTTPS out to SSM and the API"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-bastion" })
}

# Session Manager and the API endpoint both speak HTTPS; nothing else leaves.
resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to Session Manager (through NAT) and the private API endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "api_from_bastion" {
  for_each = var.api_security_groups

  security_group_id            = each.value
  description                  = "Kubernetes API from the SSM bastion ${var.name}"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.this.id

  tags = var.tags
}

resource "aws_instance" "this" {
  ami                         = data.aws_ssm_parameter.ami.insecure_value
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  associate_public_ip_address = false
  monitoring                  = true
  ebs_optimized               = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 8
    encrypted   = true
  }

  tags = merge(var.tags, { Name = "${var.name}-bastion" })

  lifecycle {
    # A newer AMI is picked up by replacing the instance on purpose, not on
    # every plan after the parameter moves.
    ignore_changes = [ami]
  }
}
