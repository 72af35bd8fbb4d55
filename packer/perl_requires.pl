# Run by tracepack under a bundle's own perl (perl -e SCRIPT REQUEST): lists
# the modules that the given Perl files load with a literal name, at any
# depth, and where this perl's @INC would find each one, without loading any.
#
# Input (the file named by $ARGV[0]): paths of Perl files, one a line.
# Output (stdout, one record a line, fields separated by tabs):
#   inc  DIR                      each directory of @INC that exists
#   core DIR                      the core library's directories (privlib,
#                                 archlib, and Debian's perl-base in @INC)
#   need MODULE FILE SITE LINE    MODULE (or a required "file.pl"), found at
#                                 FILE, is loaded at SITE:LINE
# A found file that is not one of the given files is scanned in turn, so
# what a missing module loads is listed too. A module with a shared object
# (auto/Module/Name/Name.so beside it in the same @INC directory) has a
# second "need" record for that file.
#
# The scanner is line-based, since Perl cannot be parsed statically: it
# reads `use Module`, `no Module`, `require Module` and `require "file.pl"`
# at the start of a statement (after ; { } ( or `or`, `and`, `if`, `unless`,
# `eval`, `do`, && and ||), skips POD (=pod ... =cut), stops at __END__ and
# __DATA__, and drops a comment that starts at a line's start or after a
# blank. `use lib` with literal directories (or $FindBin::Bin / RealBin) in
# any given file adds them before @INC for all, as it does at run time. Not seen: names built at
# run time, `eval "require X"` strings, heredocs' text taken for code.
# Pragmas (strict, warnings, lib...) are skipped in the given files, which
# perl compiled, so that it loaded what they `use`; not in the files found
# (Text::Wrap's `use re 'taint'` needs re.pm and its re.so).
use Config;
use Cwd qw(realpath);

my %pragma = map { $_ => 1 } qw(
  strict warnings utf8 lib constant parent base vars feature integer bytes less
  sort overload overloading if open locale subs filetest fields mro re
  attributes diagnostics encoding experimental version vmsish sigtrap
  charnames deprecate builtin bigint bignum bigrat autouse blib);

my @inc = grep { !ref($_) && -d $_ } @INC;
print "inc\t$_\n" for @inc;
print "core\t$_\n" for grep { defined && length } $Config{privlibexp}, $Config{archlibexp}, grep { m{/perl-base$} } @inc;

open(my $request, '<', $ARGV[0]) or die "$ARGV[0]: $!\n";
my @queue = map { chomp; $_ } grep { /\S/ } <$request>;
my %given = map { $_ => 1 } @queue;
my %seen = %given;
our @search;
my $start = qr/(?:^|[;{}(]|\b(?:or|and|if|unless|eval|do)\b|&&|\|\|)\s*/;

sub directory_of {
  my ($file) = @_;
  my $real = realpath($file) // $file;
  $real =~ s{/[^/]*$}{};
  return length($real) ? $real : '/';
}

# The directories a `use lib` statement names, when they are literal.
sub lib_dirs {
  my ($text, $bin) = @_;
  my @words;
  if ($text =~ /qw\s*[(\[{\/]([^)\]}\/]*)/) {
    @words = split ' ', $1;
  } else {
    push @words, $2 while $text =~ /(["'])([^"']*)\1/g;
  }
  my @dirs;
  for my $word (@words) {
    $word =~ s/\$(?:\{FindBin::(?:Real)?Bin\}|FindBin::(?:Real)?Bin\b)/$bin/g;
    push @dirs, $word if $word =~ m{^/} && $word !~ /[\$\@]/;
  }
  return @dirs;
}

sub find_file {
  my ($relative, @dirs) = @_;
  return -f $relative ? $relative : undef if $relative =~ m{^\.{0,2}/};
  for my $dir (@dirs) {
    return ("$dir/$relative", $dir) if -f "$dir/$relative";
  }
  return;
}

sub report {
  my ($name, $relative, $site, $line, @dirs) = @_;
  my ($found, $dir) = find_file($relative, @dirs);
  return unless defined $found;
  print "need\t$name\t$found\t$site\t$line\n";
  if (defined $dir && $relative =~ /^(.*)\.pm$/) {
    my $stem = $1;
    my ($last) = $stem =~ m{([^/]+)$};
    my $shared = "$dir/auto/$stem/$last.$Config{dlext}";
    print "need\t$name\t$shared\t$site\t$line\n" if -f $shared;
  }
  push @queue, $found unless $seen{$found}++;
}

sub scan {
  my ($file) = @_;
  open(my $in, '<', $file) or return;
  my $pod = 0;
  while (my $text = <$in>) {
    if ($text =~ /^=(\w+)/) {
      $pod = $1 ne 'cut';
      next;
    }
    next if $pod;
    last if $text =~ /^__(?:END|DATA)__\b/;
    $text =~ s/(?:^|\s)#.*//s;
    while ($text =~ /${start}(?:use|no|require)\s+([A-Za-z_]\w*(?:::\w+)*)/g) {
      my $module = $1;
      next if ($pragma{$module} && $given{$file}) || $module =~ /^v\d/;
      (my $relative = "$module.pm") =~ s{::}{/}g;
      report($module, $relative, $file, $., @search);
    }
    while ($text =~ /${start}(?:require|do)\s*\(?\s*(["'])([^"'\$\@]+)\1/g) {
      report($2, $2, $file, $., @search);
    }
  }
}

# The directories `use lib` adds, from every given file.
for my $file (@queue) {
  open(my $in, '<', $file) or next;
  while (my $text = <$in>) {
    last if $text =~ /^__(?:END|DATA)__\b/;
    push @search, lib_dirs($1, directory_of($file)) if $text =~ /${start}use\s+lib\b([^;]*)/;
  }
}
push @search, @inc;

while (@queue) {
  scan(shift @queue);
}
