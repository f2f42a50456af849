#!/usr/bin/env bash
# One command to run Sextant on an EC2 instance with the AWS CLI already configured.
#
#   scripts/deploy-ec2.sh --key-name KEY --ssh-key ~/.ssh/KEY.pem [--region R] [--instance-type T]
#                         [--domain sextant.example.com --email admin@example.com] [--name sextant]
#                         [--my-ip A.B.C.D] [--dry-run]
#   scripts/deploy-ec2.sh --destroy [--name sextant] [--region R] [--dry-run]
#
# Creates or reuses an Ubuntu LTS instance and a security group (22 from your address
# only, 80 and 443 open), whose user-data installs Docker and the compose plugin; ships
# the stack over SSH, generates the secrets on the box, starts it, optionally gets a
# Let's Encrypt certificate for --domain, and prints the URL. --dry-run prints every AWS
# call, every remote command and the user-data, and makes no call at all.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=sextant
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-eu-west-1}}
instance_type=t3.xlarge
volume_gb=60
key_name=""
ssh_key=""
domain=""
email=""
my_ip=""
dry_run=false
destroy=false
ami_parameter=/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --name) name=$2; shift 2 ;;
        --region) region=$2; shift 2 ;;
        --instance-type) instance_type=$2; shift 2 ;;
        --volume-gb) volume_gb=$2; shift 2 ;;
        --key-name) key_name=$2; shift 2 ;;
        --ssh-key) ssh_key=$2; shift 2 ;;
        --domain) domain=$2; shift 2 ;;
        --email) email=$2; shift 2 ;;
        --my-ip) my_ip=$2; shift 2 ;;
        --dry-run) dry_run=true; shift ;;
        --destroy) destroy=true; shift ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option: $1" >&2; usage 2 ;;
    esac
done

# aws ARGS...: runs the AWS CLI, or in dry-run prints the call and answers with a
# placeholder, so the whole plan can be read without an account.
aws_call() {
    if $dry_run; then
        echo "+ aws --region $region $*" >&2
        case "$1 $2" in
            "ssm get-parameter") echo "ami-DRYRUN" ;;
            "ec2 describe-security-groups") echo "None" ;;
            "ec2 create-security-group") echo "sg-DRYRUN" ;;
            "ec2 describe-instances") if $destroy; then echo "i-DRYRUN"; else echo "None"; fi ;;
            "ec2 run-instances") echo "i-DRYRUN" ;;
            *) echo "" ;;
        esac
        return 0
    fi
    aws --region "$region" "$@"
}

remote() {
    if $dry_run; then
        echo "+ ssh ubuntu@\$PUBLIC_IP: $*" >&2
        return 0
    fi
    ssh -i "$ssh_key" -o StrictHostKeyChecking=accept-new "ubuntu@$public_ip" "$@"
}

user_data() {
    cat <<'USERDATA'
#!/bin/bash
# Sextant: Docker Engine and the compose plugin from Docker's apt repository.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -y
apt-get install -y ca-certificates curl gnupg
install -m 0755 -d /etc/apt/keyrings
curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o /etc/apt/keyrings/docker.asc
chmod a+r /etc/apt/keyrings/docker.asc
. /etc/os-release
echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu ${VERSION_CODENAME} stable" \
    > /etc/apt/sources.list.d/docker.list
apt-get update -y
apt-get install -y docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
usermod -aG docker ubuntu
mkdir -p /opt/sextant && chown ubuntu:ubuntu /opt/sextant
touch /var/lib/sextant-ready
USERDATA
}

tag_spec() { echo "ResourceType=$1,Tags=[{Key=Name,Value=$name},{Key=sextant:stack,Value=$name}]"; }

find_instance() {
    aws_call ec2 describe-instances \
        --filters "Name=tag:sextant:stack,Values=$name" "Name=instance-state-name,Values=pending,running,stopped" \
        --query 'Reservations[0].Instances[0].InstanceId' --output text
}

if $destroy; then
    instance_id=$(find_instance)
    if [[ -n "$instance_id" && "$instance_id" != "None" ]]; then
        aws_call ec2 terminate-instances --instance-ids "$instance_id" >/dev/null
        aws_call ec2 wait instance-terminated --instance-ids "$instance_id"
    fi
    aws_call ec2 delete-security-group --group-name "$name-sg" >/dev/null || true
    echo "destroyed the instance and security group of stack '$name' in $region"
    exit 0
fi

[[ -n "$key_name" ]] || { echo "--key-name is required (an EC2 key pair for SSH)" >&2; exit 2; }
$dry_run || [[ -r "$ssh_key" ]] || { echo "--ssh-key must name the private key file of $key_name" >&2; exit 2; }
if [[ -n "$domain" && -z "$email" ]]; then
    echo "--domain needs --email for Let's Encrypt" >&2
    exit 2
fi
if [[ -z "$my_ip" ]]; then
    if $dry_run; then my_ip=198.51.100.1; else my_ip=$(curl -fsS https://checkip.amazonaws.com | tr -d '[:space:]'); fi
fi

if $dry_run; then
    echo "----- user-data -----" >&2
    user_data >&2
    echo "----- end of user-data -----" >&2
fi

ami=$(aws_call ssm get-parameter --name "$ami_parameter" --query Parameter.Value --output text)
sg_id=$(aws_call ec2 describe-security-groups --filters "Name=group-name,Values=$name-sg" \
    --query 'SecurityGroups[0].GroupId' --output text)
if [[ -z "$sg_id" || "$sg_id" == "None" ]]; then
    sg_id=$(aws_call ec2 create-security-group --group-name "$name-sg" \
        --description "Sextant: SSH from the operator, HTTP and HTTPS from anywhere" \
        --tag-specifications "$(tag_spec security-group)" --query GroupId --output text)
    aws_call ec2 authorize-security-group-ingress --group-id "$sg_id" --protocol tcp --port 22 --cidr "$my_ip/32" >/dev/null
    aws_call ec2 authorize-security-group-ingress --group-id "$sg_id" --protocol tcp --port 80 --cidr 0.0.0.0/0 >/dev/null
    aws_call ec2 authorize-security-group-ingress --group-id "$sg_id" --protocol tcp --port 443 --cidr 0.0.0.0/0 >/dev/null
fi

instance_id=$(find_instance)
if [[ -z "$instance_id" || "$instance_id" == "None" ]]; then
    user_data_file=$(mktemp)
    user_data > "$user_data_file"
    instance_id=$(aws_call ec2 run-instances --image-id "$ami" --instance-type "$instance_type" \
        --key-name "$key_name" --security-group-ids "$sg_id" \
        --block-device-mappings "DeviceName=/dev/sda1,Ebs={VolumeSize=$volume_gb,VolumeType=gp3,Encrypted=true}" \
        --metadata-options HttpTokens=required \
        --user-data "file://$user_data_file" \
        --tag-specifications "$(tag_spec instance)" "$(tag_spec volume)" \
        --query 'Instances[0].InstanceId' --output text)
    rm -f "$user_data_file"
fi
aws_call ec2 wait instance-running --instance-ids "$instance_id"
public_ip=$(aws_call ec2 describe-instances --instance-ids "$instance_id" \
    --query 'Reservations[0].Instances[0].PublicIpAddress' --output text)
$dry_run && public_ip=203.0.113.10

if ! $dry_run; then
    for _ in $(seq 1 60); do remote test -e /var/lib/sextant-ready 2>/dev/null && break; sleep 10; done
fi

# Ship the committed stack (not the working tree) and start it.
if $dry_run; then
    echo "+ git archive HEAD | ssh ubuntu@\$PUBLIC_IP tar -x -C /opt/sextant" >&2
else
    git -C "$here" archive --format=tar HEAD | remote tar -x -C /opt/sextant
fi
remote "cd /opt/sextant && bash scripts/generate-env.sh .env"
if [[ -n "$domain" ]]; then
    remote "cd /opt/sextant && mkdir -p certs && sudo docker run --rm -p 80:80 -v /opt/sextant/letsencrypt:/etc/letsencrypt certbot/certbot:v3.0.1 certonly --standalone --non-interactive --agree-tos -m '$email' -d '$domain'"
    remote "cd /opt/sextant && sudo cp -L letsencrypt/live/'$domain'/fullchain.pem letsencrypt/live/'$domain'/privkey.pem certs/ && sudo chown -R 101:101 certs && sed -i 's/^#\\{0,1\\} \\{0,1\\}TLS_MODE=.*/TLS_MODE=on/' .env"
fi
remote "cd /opt/sextant && sudo docker compose up -d --build"

if [[ -n "$domain" ]]; then
    echo "Sextant: https://$domain/  (point the domain's A record at $public_ip)"
else
    echo "Sextant: http://$public_ip/  (add --domain and --email for HTTPS)"
fi
