#!/usr/bin/perl
# Independent DKIM verification with Mail::DKIM (Debian's libmail-dkim-perl), reading
# the public key from the command line instead of DNS.
#   mail_dkim_verify.pl SELECTOR._domainkey.DOMAIN 'v=DKIM1; k=rsa; p=...' MESSAGE.eml
# Prints Mail::DKIM's result ("pass", "fail", ...) and its detail.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

package StaticResolver;
sub new { my ( $class, %args ) = @_; return bless {%args}, $class }
sub errorstring { return 'NOERROR' }
sub send {
    my ( $self, $name, $type ) = @_;
    my $packet = Net::DNS::Packet->new( $name, $type, 'IN' );
    $packet->header->qr(1);
    $packet->header->rcode('NOERROR');
    if ( lc($name) eq lc( $self->{name} ) && $type eq 'TXT' ) {
        my @chunks = unpack( '(A255)*', $self->{txt} );
        $packet->push( answer => Net::DNS::RR->new(
            name => $name, type => 'TXT', ttl => 60, txtdata => \@chunks ) );
    }
    return $packet;
}

package main;
my ( $name, $txt, $file ) = @ARGV;
Mail::DKIM::DNS::resolver( StaticResolver->new( name => $name, txt => $txt ) );
my $verifier = Mail::DKIM::Verifier->new();
open( my $fh, '<', $file ) or die "cannot read $file: $!\n";
binmode $fh;
while ( my $line = <$fh> ) {
    $line =~ s/\r?\n\z/\015\012/;
    $verifier->PRINT($line);
}
$verifier->CLOSE;
print $verifier->result, " ", ( $verifier->result_detail // '' ), "\n";
